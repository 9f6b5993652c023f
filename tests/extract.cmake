# Sharded feature extraction (mpi/extract.c) on the generated 10-word corpus.
add_test(NAME extract_sharded_identical
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_extract.sh ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/extract)
set_tests_properties(extract_sharded_identical PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)
