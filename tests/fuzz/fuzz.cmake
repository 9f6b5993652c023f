# tests/fuzz/fuzz.cmake: libFuzzer harnesses, one per parser of untrusted input, and their
# regression replay. Included from tests/CMakeLists.txt when SER_FUZZ is ON (default OFF):
#
#   cmake -S . -B build-fuzz -DSER_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-fuzz -j
#   tests/fuzz/run.sh build-fuzz 60              # fuzz every target for 60 s
#   ctest --test-dir build-fuzz -R fuzz_replay_  # replay corpus/ and regressions/ once
#
# The whole project is compiled with -fsanitize=fuzzer-no-link,address,undefined (coverage
# for libFuzzer, ASan, UBSan with every report fatal); the harnesses tests/fuzz/fuzz_*.c are
# linked with -fsanitize=fuzzer into BUILD/fuzz/fuzz_<target>. Needs clang and its runtime
# libraries (Debian: clang, libclang-rt-14-dev; jobs/deps.sh --test installs them).
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SER_FUZZ=ON needs clang (libFuzzer): configure a new build directory "
                      "with -DCMAKE_C_COMPILER=clang (found ${CMAKE_C_COMPILER_ID})")
endif()

set(SER_FUZZ_SANITIZERS address,undefined)
set(SER_FUZZ_COMPILE_FLAGS -fsanitize=fuzzer-no-link,${SER_FUZZ_SANITIZERS}
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)

# The libraries and `ser` were defined before tests/: instrument them per target (a static
# library passes the sanitizer link flag on to whatever links it). The test programs of
# tests/*.cmake, defined after this file is included, get the flags from the directory.
foreach(lib ser_dsp ser_nn ser_comm ser_dist)
  target_compile_options(${lib} PRIVATE ${SER_FUZZ_COMPILE_FLAGS})
  target_link_options(${lib} INTERFACE -fsanitize=${SER_FUZZ_SANITIZERS})
endforeach()
target_compile_options(ser PRIVATE ${SER_FUZZ_COMPILE_FLAGS})
add_compile_options(${SER_FUZZ_COMPILE_FLAGS})
add_link_options(-fsanitize=${SER_FUZZ_SANITIZERS})
# The numeric kernels (MFCC, layers, GEMM) stay under ASan and UBSan but without coverage
# instrumentation: their loops do not branch on the parsed input, and the comparison hooks
# in them made fuzz_audio 20x slower.
set(SER_FUZZ_NO_COVERAGE -fno-sanitize-coverage=inline-8bit-counters,indirect-calls,trace-cmp,pc-table)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/dsp/mfcc.c DIRECTORY ${CMAKE_SOURCE_DIR}/dsp
             APPEND PROPERTY COMPILE_OPTIONS ${SER_FUZZ_NO_COVERAGE})
set_property(SOURCE ${CMAKE_SOURCE_DIR}/nn/layers.c ${CMAKE_SOURCE_DIR}/nn/gemm.c
             DIRECTORY ${CMAKE_SOURCE_DIR}/nn APPEND PROPERTY COMPILE_OPTIONS ${SER_FUZZ_NO_COVERAGE})
# As in a SER_SANITIZE build: no leak checking under mpiexec (Open MPI's plugins).
list(APPEND SER_MPI_ENV ASAN_OPTIONS=detect_leaks=0)

# Target name -> the libraries its parser lives in. No harness calls MPI; ser_dist only
# brings the MPI library along at link time.
set(SER_FUZZ_TARGETS pack ckpt features manifest config spec audio)
set(SER_FUZZ_LIBS_pack ser_dsp)
set(SER_FUZZ_LIBS_ckpt ser_dist)
set(SER_FUZZ_LIBS_features ser_dist)
set(SER_FUZZ_LIBS_manifest ser_dsp)
set(SER_FUZZ_LIBS_config ser_dist)
set(SER_FUZZ_LIBS_spec ser_nn)
set(SER_FUZZ_LIBS_audio ser_dsp)

foreach(t ${SER_FUZZ_TARGETS})
  add_executable(fuzz_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c)
  target_link_libraries(fuzz_${t} PRIVATE ${SER_FUZZ_LIBS_${t}} ZLIB::ZLIB ${MATH_LIB})
  target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  set_target_properties(fuzz_${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  # Every file of corpus/<t>/ and regressions/<t>/ once (valid-* seeds must be accepted).
  add_test(NAME fuzz_replay_${t}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh --replay ${CMAKE_BINARY_DIR} ${t})
endforeach()

# The generator of the binary seeds (tests/fuzz/make_seeds.sh runs it).
add_executable(fuzz_make_seeds ${CMAKE_CURRENT_LIST_DIR}/make_seeds.c)
target_link_libraries(fuzz_make_seeds PRIVATE ser_dist PkgConfig::SNDFILE ZLIB::ZLIB ${MATH_LIB})
set_target_properties(fuzz_make_seeds PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)

# `cmake --build BUILD --target fuzz`: the seven fuzzers and the seed generator only.
add_custom_target(fuzz DEPENDS fuzz_make_seeds)
foreach(t ${SER_FUZZ_TARGETS})
  add_dependencies(fuzz fuzz_${t})
endforeach()
