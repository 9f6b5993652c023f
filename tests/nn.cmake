# nn/ unit tests (no MPI) and the PyTorch parity check. Every test exits non-zero on failure.
foreach(t gemm grad dropout spec adam)
  add_executable(test_nn_${t} ${CMAKE_CURRENT_LIST_DIR}/test_nn_${t}.c)
  target_link_libraries(test_nn_${t} PRIVATE ser_nn ${MATH_LIB})
  add_test(NAME nn_${t} COMMAND test_nn_${t})
endforeach()

# PyTorch parity: test_nn_dump writes weights, input, outputs, gradients and an Adam loss
# sequence; tests/torch_parity.py recomputes them with torch (float64 and float32).
add_executable(test_nn_dump ${CMAKE_CURRENT_LIST_DIR}/test_nn_dump.c)
target_link_libraries(test_nn_dump PRIVATE ser_nn ${MATH_LIB})
add_test(NAME nn_torch_parity
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/torch_parity.py
                 --dump $<TARGET_FILE:test_nn_dump> --workdir ${CMAKE_CURRENT_BINARY_DIR}/nn_parity)
add_test(NAME nn_cli_summary COMMAND ${SER_BIN} summary)
set_tests_properties(nn_cli_summary PROPERTIES PASS_REGULAR_EXPRESSION "Total params: 194,759")
add_test(NAME nn_cli_bad_spec COMMAND ${SER_BIN} summary --model "conv1d:64:5 relu dense:7")
set_tests_properties(nn_cli_bad_spec PROPERTIES WILL_FAIL TRUE)
