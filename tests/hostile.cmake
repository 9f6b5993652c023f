# Hostile inputs (issue "Hostile input"): tests/hostile/run_hostile.py runs every ser command
# on inputs made by tests/hostile/make_hostile.py - lying WAV headers, huge float samples,
# checkpoints and feature files re-encoded with crafted records and valid CRCs, device nodes,
# FIFOs, symlinks, user files and busy run directories as outputs, odd configuration files and
# path names - and checks each case's exit status, its message (a regex on stderr naming the
# file or field), that nothing was lost or replaced, and that no command crashes (signal,
# AddressSanitizer/UBSan report) or hangs (every command under a timeout). The cases use small
# copies of corpus10 inside the work directory; ~80 s (sanitizer build ~140 s) on 2 cores.
# By hand: python3 tests/hostile/run_hostile.py SER CORPUS WORKDIR [--only REGEX] [--verbose]
add_test(NAME hostile_inputs
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/hostile/run_hostile.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/hostile)
set_tests_properties(hostile_inputs PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 600)
