/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for error.h: xcv_strerror() and xcv_err_is_protocol(). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/error.h"

static const int all_codes[] = {
    XCV_OK,
    XCV_EINVAL,
    XCV_ENOSPC,
    XCV_EAGAIN,
    XCV_ENOTSUP,
    XCV_ESTATE,
    XCV_ETIMEDOUT,
    XCV_EBROKEN,
    XCV_ECANCELED,
    XCV_EPEERRESET,
    XCV_EIO,
    XCV_ENODEV,
    XCV_ENOMEM,
    XCV_EPORT,
    XCV_EPROTO_AVAIL_IDX,
    XCV_EPROTO_HEAD,
    XCV_EPROTO_NEXT,
    XCV_EPROTO_CHAIN_LEN,
    XCV_EPROTO_INDIRECT,
    XCV_EPROTO_INDIRECT_LEN,
    XCV_EPROTO_WRITE_ORDER,
    XCV_EPROTO_OVERFLOW,
    XCV_EPROTO_WINDOW,
    XCV_EPROTO_USED_ID,
    XCV_EPROTO_USED_LEN,
    XCV_EPROTO_USED_IDX,
    XCV_EPROTO_FEATURE,
    XCV_EPROTO_LAYOUT,
    XCV_EPROTO_MSG,
    XCV_EPROTO_DEVICE,
};

#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

static void strerror_is_non_null_and_non_empty_for_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *s = xcv_strerror(all_codes[i]);
        assert_non_null(s);
        assert_true(s[0] != '\0');
    }
}

static void strerror_is_distinct_for_distinct_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        for (size_t j = i + 1; j < N_CODES; j++) {
            const char *a = xcv_strerror(all_codes[i]);
            const char *b = xcv_strerror(all_codes[j]);
            if (strcmp(a, b) == 0) {
                fail_msg("codes %d and %d share the text \"%s\"", all_codes[i], all_codes[j], a);
            }
        }
    }
}

static void strerror_is_stable_across_calls(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        assert_string_equal(xcv_strerror(all_codes[i]), xcv_strerror(all_codes[i]));
    }
}

static void strerror_of_unknown_or_positive_values_is_non_null(void **state)
{
    static const int others[] = {1, 42, INT_MAX, -14, -31, -48, -1000, INT_MIN};
    (void)state;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        const char *s = xcv_strerror(others[i]);
        assert_non_null(s);
    }
    /* Non-negative values read "success". */
    assert_string_equal(xcv_strerror(1), xcv_strerror(XCV_OK));
    assert_string_equal(xcv_strerror(INT_MAX), xcv_strerror(XCV_OK));
}

static void err_is_protocol_only_for_peer_caused_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        int c = all_codes[i];
        assert_int_equal(xcv_err_is_protocol(c) != 0, c <= -32);
    }
    assert_false(xcv_err_is_protocol(1));
    assert_false(xcv_err_is_protocol(-31));
    assert_true(xcv_err_is_protocol(-32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_is_non_null_and_non_empty_for_every_code),
        cmocka_unit_test(strerror_is_distinct_for_distinct_codes),
        cmocka_unit_test(strerror_is_stable_across_calls),
        cmocka_unit_test(strerror_of_unknown_or_positive_values_is_non_null),
        cmocka_unit_test(err_is_protocol_only_for_peer_caused_codes),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
