# Repository habits (tests/lint.sh): clang-format 14 on every tracked .c/.h, layering
# (dsp/ and nn/ independent, <mpi.h> only in mpi/comm/), functions in mpi/, nn/, dsp/ at most
# 120 lines, no path outside the repository, no TODO/FIXME/XXX in the code. Needs the git
# checkout (not the build); label `lint` (ctest -L lint runs it alone).
add_test(NAME lint COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lint.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(lint PROPERTIES LABELS lint TIMEOUT 120)
