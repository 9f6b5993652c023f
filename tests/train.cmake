# `ser train` end to end on the generated 10-word corpus: run directory, export, predict and
# PyTorch agreement, data parallelism for np = 1..4, error exits.
add_test(NAME train_end_to_end
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_train.sh ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/train)
set_tests_properties(train_end_to_end PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 600)

add_executable(test_callbacks ${CMAKE_CURRENT_SOURCE_DIR}/test_callbacks.c)
target_link_libraries(test_callbacks PRIVATE ser_dist)
add_test(NAME train_callbacks COMMAND test_callbacks)

add_executable(test_ckpt ${CMAKE_CURRENT_SOURCE_DIR}/test_ckpt.c)
target_link_libraries(test_ckpt PRIVATE ser_dist)
add_test(NAME ckpt_roundtrip_and_damage COMMAND test_ckpt ${CMAKE_CURRENT_BINARY_DIR})

# Checkpoints, exact resume, determinism across rank counts, signals and failures (issue 4).
add_test(NAME train_resume_determinism_signals
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_resume.sh ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/resume)
set_tests_properties(train_resume_determinism_signals PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 900 RUN_SERIAL TRUE)

# ser's whole training path (init, shuffle, dropout keys, partial batch, 2-rank allreduce,
# Adam) against PyTorch from ser's exact initial weights, batch order and masks.
add_test(NAME train_torch_identical_start
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/torch_identical_start.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/identical_start)
set_tests_properties(train_torch_identical_start PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)
