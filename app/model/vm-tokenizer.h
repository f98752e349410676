/* vm-tokenizer.h — CLIP's byte-level BPE tokenizer.
 *
 * Behaves as OpenAI's original CLIP tokenizer (simple_tokenizer.py with its
 * ftfy step left out):
 *
 *  1. Text cleaning: HTML character references are decoded twice (as
 *     html.unescape (html.unescape (text)) does), leading and trailing white
 *     space is stripped, every run of white space becomes one space, and the
 *     text is lower-cased as Python's str.lower() does: the simple
 *     lower-case mapping (also of the Roman numerals and circled capitals,
 *     which are not letters), U+0130 → "i̇", and a final capital sigma → ς.  The character references decoded are
 *     &#NNN; &#xHH; (with Python's replacements for invalid code points) and
 *     the named ones listed in vm-html-entities.h: the HTML 4.01 set plus
 *     &apos;, and the HTML5 legacy names that need no semicolon.  Other names
 *     are left as they are.  Invalid UTF-8 input is first repaired (each bad
 *     sequence becomes U+FFFD).
 *  2. Pre-tokenisation as the pattern
 *       <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|
 *       [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *     (case-insensitive) would split it: runs of letters, single digits,
 *     runs of other non-space characters.
 *  3. Each piece is taken as UTF-8 bytes, every byte mapped to its printable
 *     stand-in (GPT-2's bytes_to_unicode table), "</w>" appended to the last
 *     symbol, and byte pairs merged in merge-rank order.
 *
 * A VmTokenizer is immutable after loading apart from an internal cache
 * guarded by a lock: one instance can be shared by threads.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VM_TOKENIZER_CONTEXT_LENGTH 77
/* The number of merges CLIP uses: 49152 - 256 - 2 (later lines are ignored). */
#define VM_TOKENIZER_MAX_MERGES     48894

typedef struct _VmTokenizer VmTokenizer;

/* Loads @dir/vocab.json and @dir/merges.txt. */
VmTokenizer *vm_tokenizer_new_from_dir   (const char   *dir,
                                          GError      **error);
/* Loads a vocab.json (token → id) and a merges.txt (an optional first line
 * starting with "#version", then one "left right" pair per line, best
 * first).  Every merge, its parts, the 512 byte symbols and the special
 * tokens <|startoftext|> and <|endoftext|> must be in the vocabulary. */
VmTokenizer *vm_tokenizer_new_from_files (const char   *vocab_path,
                                          const char   *merges_path,
                                          GError      **error);
VmTokenizer *vm_tokenizer_ref            (VmTokenizer  *self);
void         vm_tokenizer_unref          (VmTokenizer  *self);

gint32       vm_tokenizer_get_start_id   (VmTokenizer  *self);  /* 49406 for CLIP */
gint32       vm_tokenizer_get_end_id     (VmTokenizer  *self);  /* 49407 for CLIP */
guint        vm_tokenizer_get_vocab_size (VmTokenizer  *self);  /* the largest id + 1 */

/* The ids of @text (UTF-8; NULL is the empty text) with the start and end
 * tokens around them, neither truncated nor padded: a GArray of gint32. */
GArray      *vm_tokenizer_encode         (VmTokenizer  *self,
                                          const char   *text);
/* The same fitted to @context_length (≥ 2) ids in @ids: truncated so that
 * the last id is always the end token, then padded with 0 as OpenAI's
 * clip.tokenize() does.  Returns the number of ids before padding (the
 * position of the end token + 1). */
guint        vm_tokenizer_encode_padded  (VmTokenizer  *self,
                                          const char   *text,
                                          gint32       *ids,
                                          guint         context_length);

/* Step 1 alone (cleaned, lower-cased text, newly allocated); for tests and
 * diagnostics. */
char        *vm_tokenizer_clean_text     (const char   *text);
/* Steps 1 and 2: the pieces BPE is applied to, as a NULL-terminated array. */
char       **vm_tokenizer_split          (const char   *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmTokenizer, vm_tokenizer_unref)

G_END_DECLS
