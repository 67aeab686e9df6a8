/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdt_check_full() for copies of libfdt that lack fdt_check.c (the Linux kernel's
 * scripts/dtc/libfdt, which the bare-metal ports build from). Built only into those ports'
 * libfdt (cmake/XcvLibfdt.cmake); hosted builds use the system libfdt's own version.
 *
 * It walks the whole structure block with the blob's size bounded by @p bufsize: every tag
 * inside the block, nodes balanced, exactly one root with an empty name, every property name
 * inside the strings block.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <libfdt.h>

int fdt_check_full(const void *fdt, size_t bufsize)
{
    int err;
    int nextoffset = 0;
    unsigned int depth = 0;
    int expect_end = 0;

    if (bufsize < FDT_V1_SIZE || bufsize < fdt_header_size(fdt))
        return -FDT_ERR_TRUNCATED;
    err = fdt_check_header(fdt);
    if (err != 0)
        return err;
    if (bufsize < fdt_totalsize(fdt))
        return -FDT_ERR_TRUNCATED;
    err = fdt_num_mem_rsv(fdt);
    if (err < 0)
        return err;

    for (;;) {
        int offset = nextoffset;
        uint32_t tag = fdt_next_tag(fdt, offset, &nextoffset);

        if (nextoffset < 0)
            return nextoffset;
        if (expect_end && tag != FDT_END)
            return -FDT_ERR_BADSTRUCTURE;
        switch (tag) {
        case FDT_NOP:
            break;
        case FDT_END:
            return depth == 0u ? 0 : -FDT_ERR_BADSTRUCTURE;
        case FDT_BEGIN_NODE: {
            depth++;
            if (depth > (unsigned int)INT_MAX)
                return -FDT_ERR_BADSTRUCTURE;
            if (depth == 1u) {
                int len = 0;
                const char *name = fdt_get_name(fdt, offset, &len);

                if (name == NULL || name[0] != '\0' || len != 0)
                    return -FDT_ERR_BADSTRUCTURE;
            }
            break;
        }
        case FDT_END_NODE:
            if (depth == 0u)
                return -FDT_ERR_BADSTRUCTURE;
            depth--;
            if (depth == 0u)
                expect_end = 1;
            break;
        case FDT_PROP: {
            const char *propname = NULL;

            if (fdt_getprop_by_offset(fdt, offset, &propname, &err) == NULL)
                return err;
            break;
        }
        default:
            return -FDT_ERR_INTERNAL;
        }
    }
}
