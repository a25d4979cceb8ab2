# SPDX-License-Identifier: MIT
#
# Helpers for the tests written as cmake -P scripts (install-consumer.cmake,
# static-archive.cmake): set TEST_RUN_NAME (the prefix of every message),
# then include this file.  Each helper stops the script with FATAL_ERROR,
# which fails the test, on the first thing that goes wrong.
#
# test_run(<step name> <command>...): echo, run, fail loudly.
function(test_run step)
    list(JOIN ARGN " " cmdline)
    message(STATUS "[${TEST_RUN_NAME}] ${step}: ${cmdline}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "[${TEST_RUN_NAME}] FAILED at '${step}' (exit ${rc}): ${cmdline}")
    endif()
endfunction()

# test_pkg_config(<out var> <pkg-config arguments>...): run pkg-config
# (-DPKG_CONFIG=..., else the one on PATH), fail loudly, give its output.
function(test_pkg_config out)
    set(pc "${PKG_CONFIG}")
    if(NOT pc)
        find_program(pc_found NAMES pkg-config pkgconf)
        set(pc "${pc_found}")
    endif()
    if(NOT pc)
        message(FATAL_ERROR "[${TEST_RUN_NAME}] pkg-config not found (scripts/install-deps.sh installs it)")
    endif()
    execute_process(COMMAND "${pc}" ${ARGN}
                    OUTPUT_VARIABLE text OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        list(JOIN ARGN " " args)
        message(FATAL_ERROR "[${TEST_RUN_NAME}] pkg-config ${args} failed (exit ${rc})")
    endif()
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

# test_install(<prefix>): empty WORK_DIR, then install BUILD_DIR (of build
# type CONFIG, if given) into <prefix>.
function(test_install prefix)
    file(REMOVE_RECURSE "${WORK_DIR}")
    file(MAKE_DIRECTORY "${WORK_DIR}")
    set(config_args)
    if(DEFINED CONFIG AND NOT CONFIG STREQUAL "")
        set(config_args --config "${CONFIG}")
    endif()
    test_run("install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})
endfunction()
