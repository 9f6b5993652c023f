# Corpus scanning (dsp/scan.c) and `ser scan` (mpi/cmd_scan.c).
# scan_api: the C API on trees made in-process (names only) - label table, speaker rule, errors.
# scan_cli: generated TESS-quirk tree (sox audio), full 2 x 7 x 200 doubled tree, CSV manifests.
add_executable(test_scan_api test_scan_api.c)
target_link_libraries(test_scan_api PRIVATE ser_dsp)
add_test(NAME scan_api COMMAND test_scan_api)

add_test(NAME scan_cli COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_scan.py ${SER_BIN})
set_tests_properties(scan_cli PROPERTIES TIMEOUT 300)
