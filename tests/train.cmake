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

# --class-weight balanced on an imbalanced 96-file subset of corpus10 (symlinks), 2 ranks:
# class weights n/(k*count_c) of the training set (sklearn's compute_class_weight) and the
# loss sum(w_y*CE)/sum(w_y) over the whole global batch (F.cross_entropy(weight=w)), against
# PyTorch from ser's start: weights, batch loss and weight sums, epoch train_loss, <= 1e-5;
# an unweighted replay must differ (tests/torch_identical_start.py's header).
add_test(NAME train_class_weight_torch
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/torch_identical_start.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/class_weight_torch
                 --class-weight balanced)
set_tests_properties(train_class_weight_torch PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)

# --label-smoothing, --mixup, --spec-augment against PyTorch from ser's start (2 ranks, epoch 1,
# each alone and all three with balanced class weights; the augmentation recomputed from ser's
# counter-based generator in Python): weights, train_loss and the unaugmented val_loss <= 1e-4;
# the replay without the augmentation must differ (tests/torch_identical_start.py).
add_test(NAME train_augment_torch
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/torch_identical_start.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/augment_torch --augment)
set_tests_properties(train_augment_torch PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)
# The three together under --deterministic: byte-identical for np = 1, 2, 3 and across a resume
# from np=2 to np=3; a resume cannot change them; bad values (tests/test_augment_exact.sh).
add_test(NAME train_augment_exact
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_augment_exact.sh ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/augment_exact)
set_tests_properties(train_augment_exact PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 600)

# Speaker-independent protocols (issue "Beyond TESS"): --cv loso / K / --cv-group /
# --val-speakers / --ranks-per-fold on a generated SAVEE stand-in (4 speakers), the summary
# against the fold files and sklearn, a fold interrupted by a signal and resumed bit for bit,
# mixed corpora with --split corpus:emodb and --label-map (tests/test_cv.py). ~70 s.
add_test(NAME train_cv_protocols
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_cv.py ${SER_BIN}
                 ${CMAKE_CURRENT_BINARY_DIR}/cv)
set_tests_properties(train_cv_protocols PROPERTIES ENVIRONMENT "${SER_MPI_ENV}" TIMEOUT 600)

# Feature types through the whole path (tests/test_feature_types_train.py): --feature-type
# logmel --n-mels 32 --deltas recorded in config.txt, the cache and the checkpoint; `ser
# predict` equals PyTorch on the cached features with the exported weights; a cache made with
# other feature parameters is rebuilt, never reused; files without the new records (earlier
# format-2 writers) read as MFCC without deltas. ~30 s.
# Files of earlier format-2 writers are made by removing the new records (tests/pack_strip.c).
add_executable(pack_strip ${CMAKE_CURRENT_SOURCE_DIR}/pack_strip.c)
target_link_libraries(pack_strip PRIVATE ser_dsp)
add_test(NAME train_feature_types
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_feature_types_train.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/feature_types
                 $<TARGET_FILE:pack_strip>)
set_tests_properties(train_feature_types PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)

# --norm global|speaker|utterance and `ser predict --norm-from` (issue 12): the inputs the
# trainer feeds the model (SER_DUMP_INPUTS) against numpy's per-training-set / per-speaker /
# per-file normalisation of the feature cache, <= 1e-6; the checkpoint, `ser info` and the
# export; predict on the test speaker's files (--norm-from a manifest or a folder) reproduces
# the run's confusion.tsv; refusals (tests/test_norm.py's header). ~40 s.
add_test(NAME train_norm_modes
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_norm.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/norm)
set_tests_properties(train_norm_modes PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 600)

# Batchnorm in training: --deterministic np = 1 vs 2 byte-identical with the running
# statistics, a signal + resume bit for bit, ser info, export into torch (strict) == predict.
add_test(NAME train_batchnorm
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_bn_train.sh ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/batchnorm)
set_tests_properties(train_batchnorm PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)

# Batchnorm in default mode on 2 ranks against a PyTorch replay of its semantics (each rank's
# slice normalised with its own statistics; running statistics from the mean of the slices'):
# weights and running buffers after 4 steps (tests/torch_identical_start.py --batchnorm).
add_test(NAME train_batchnorm_torch
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/torch_identical_start.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/batchnorm_torch
                 --batchnorm)
set_tests_properties(train_batchnorm_torch PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 300)

# jobs/torch_reference.py's mirror of the robust recipe (issue 12): --ser-config of a ser run;
# --norm global|speaker|utterance inputs against ser's SER_DUMP_INPUTS (<= 1e-6); a 2-epoch
# reference run with label smoothing, mixup, SpecAugment, --monitor val_uar and class
# weights read from config.txt; its loss, masks and Keras mode-max callbacks against hand
# formulae; refusal of settings it does not implement (tests/test_torch_reference.py).
# ~45 s of CPU (2 min 47 s wall on the shared 2 cores).
add_test(NAME torch_reference_options
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_torch_reference.py ${SER_BIN}
                 ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/torch_reference)
set_tests_properties(torch_reference_options PROPERTIES ENVIRONMENT "${SER_MPI_ENV}"
                     FIXTURES_REQUIRED corpus10 TIMEOUT 600)
