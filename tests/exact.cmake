# Bit-exact, order-independent sums across ranks (mpi/exact.c): test_exact runs under
# mpiexec with 1..4 ranks (each checks four distributions in-process and writes its results),
# then exact_check.py compares the results of every rank count and checks them against the
# exact rational sums (Python fractions).
add_executable(test_exact test_exact.c)
target_link_libraries(test_exact PRIVATE ser_dist)
set(SER_EXACT_DIR ${CMAKE_CURRENT_BINARY_DIR}/exact)
file(MAKE_DIRECTORY ${SER_EXACT_DIR})
# SER_MPI_ENV turns leak detection off under mpiexec in sanitizer builds (tests/CMakeLists.txt).
set(SER_EXACT_ENV ${SER_MPI_ENV})
set(SER_EXACT_RANKS 1 2 3 4)
add_test(NAME exact_clean COMMAND ${CMAKE_COMMAND} -E rm -f
         ${SER_EXACT_DIR}/exact_np1.bin ${SER_EXACT_DIR}/exact_np2.bin
         ${SER_EXACT_DIR}/exact_np3.bin ${SER_EXACT_DIR}/exact_np4.bin)
set_tests_properties(exact_clean PROPERTIES FIXTURES_SETUP exact_clean)
foreach(k ${SER_EXACT_RANKS})
  add_test(NAME exact_np${k}
           COMMAND ${SER_MPIEXEC} -n ${k} --oversubscribe $<TARGET_FILE:test_exact> ${SER_EXACT_DIR})
  set_tests_properties(exact_np${k} PROPERTIES ENVIRONMENT "${SER_EXACT_ENV}" TIMEOUT 120
                       FIXTURES_REQUIRED exact_clean FIXTURES_SETUP exact_results)
endforeach()
add_test(NAME exact_compare_ranks
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/exact_check.py ${SER_EXACT_DIR}
                 ${SER_EXACT_RANKS})
set_tests_properties(exact_compare_ranks PROPERTIES FIXTURES_REQUIRED exact_results TIMEOUT 120)

# The communication layer (mpi/comm/comm.c): agreement with the failing rank's message,
# buffer broadcast, record gathers, reductions; 1 and 3 ranks.
add_executable(test_comm test_comm.c)
target_link_libraries(test_comm PRIVATE ser_dist)
foreach(k 1 3)
  add_test(NAME comm_np${k}
           COMMAND ${SER_MPIEXEC} -n ${k} --oversubscribe $<TARGET_FILE:test_comm>)
  set_tests_properties(comm_np${k} PROPERTIES ENVIRONMENT "${SER_EXACT_ENV}" TIMEOUT 120)
endforeach()
