/* vm-core.h — the core layer: errors, jobs, paths, small helpers.
 *
 * Copyright the Vidmark authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "core/vm-fingerprint.h"
#include "core/vm-job.h"
#include "core/vm-paths.h"
#include "core/vm-util.h"
