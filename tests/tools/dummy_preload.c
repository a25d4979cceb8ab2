/* SPDX-License-Identifier: MIT */
/* An empty shared library: a stand-in for libpagealloc-preload.so, so the
 * pagealloc-run tests do not depend on the shim being built. */
int pa_tools_test_dummy_preload(void);
int pa_tools_test_dummy_preload(void)
{
    return 0;
}
