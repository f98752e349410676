/* vm-gpu.h — the gpu layer: Vulkan device, buffers, pipelines, dispatch
 * graphs and the kernels of shaders/.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-device.h"
#include "gpu/vm-gpu-buffer.h"
#include "gpu/vm-gpu-pipeline.h"
#include "gpu/vm-gpu-graph.h"
#include "gpu/vm-gpu-kernels.h"
