# nn/ unit tests (no MPI) and the PyTorch parity check. Every test exits non-zero on failure.

# Script mode, for the nn_cli_* tests below:
#   cmake -DBIN=ser [-DSPEC=spec] -DRC=status -DREGEX=regex -P nn.cmake
# runs `BIN summary [--model SPEC]` and fails unless its exit status is RC AND its output
# (stdout and stderr) matches REGEX: a matching message never hides a wrong status.
if(CMAKE_SCRIPT_MODE_FILE)
  set(args summary)
  if(DEFINED SPEC)
    list(APPEND args --model "${SPEC}")
  endif()
  execute_process(COMMAND "${BIN}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT "${rc}" STREQUAL "${RC}")
    message(FATAL_ERROR "exit status '${rc}', expected ${RC}")
  endif()
  if(NOT out MATCHES "${REGEX}")
    message(FATAL_ERROR "the output does not match '${REGEX}'")
  endif()
  return()
endif()

foreach(t gemm grad dropout spec adam)
  add_executable(test_nn_${t} ${CMAKE_CURRENT_LIST_DIR}/test_nn_${t}.c)
  target_link_libraries(test_nn_${t} PRIVATE ser_nn ${MATH_LIB})
  add_test(NAME nn_${t} COMMAND test_nn_${t})
endforeach()

# Augmentation draws (nn/augment.c) against tests/ser_rng.py's re-implementation, and their
# distributions (tests/test_augment.py).
add_executable(test_nn_augment ${CMAKE_CURRENT_LIST_DIR}/test_nn_augment.c)
target_link_libraries(test_nn_augment PRIVATE ser_nn ${MATH_LIB})
add_test(NAME nn_augment_draws
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_augment.py
                 $<TARGET_FILE:test_nn_augment>)

# PyTorch parity: test_nn_dump writes weights, input, outputs, gradients and an Adam loss
# sequence; tests/torch_parity.py recomputes them with torch (float64 and float32).
add_executable(test_nn_dump ${CMAKE_CURRENT_LIST_DIR}/test_nn_dump.c)
target_link_libraries(test_nn_dump PRIVATE ser_nn ${MATH_LIB})
add_test(NAME nn_torch_parity
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/torch_parity.py
                 --dump $<TARGET_FILE:test_nn_dump> --workdir ${CMAKE_CURRENT_BINARY_DIR}/nn_parity)

# ser summary: the default model (status 0 and its parameter count), and a bad spec (status 1
# and the reason).
add_test(NAME nn_cli_summary
         COMMAND ${CMAKE_COMMAND} -DBIN=${SER_BIN} -DRC=0 "-DREGEX=Total params: 194,759"
                 -P ${CMAKE_CURRENT_LIST_FILE})
add_test(NAME nn_cli_bad_spec
         COMMAND ${CMAKE_COMMAND} -DBIN=${SER_BIN} "-DSPEC=conv1d:64:5 relu dense:7" -DRC=1
                 "-DREGEX=token 3 'dense:7': dense needs a vector input"
                 -P ${CMAKE_CURRENT_LIST_FILE})

# The 2-D CNN of issue 12: maps shown (None, C, H, W), its parameter count; a map into lstm.
add_test(NAME nn_cli_summary_2d
         COMMAND ${CMAKE_COMMAND} -DBIN=${SER_BIN}
                 "-DSPEC=conv2d:32:3x3 relu maxpool2d:2x2 conv2d:64:3x3 relu maxpool2d:2x2 conv2d:128:3x3 relu maxpool2d:2x2 gap dropout:0.3 dense"
                 -DRC=0 "-DREGEX=pool3 \\(MaxPool2d\\) +\\(None, 128, 5, 16\\).*Total params: 93,575"
                 -P ${CMAKE_CURRENT_LIST_FILE})
add_test(NAME nn_cli_bad_spec_2d
         COMMAND ${CMAKE_COMMAND} -DBIN=${SER_BIN} "-DSPEC=conv2d:8:3x3 lstm:8 dense" -DRC=1
                 "-DREGEX=token 2 'lstm:8': lstm needs a sequence input, but the input here is a map \\(8 x 40 x 130\\)"
                 -P ${CMAKE_CURRENT_LIST_FILE})
