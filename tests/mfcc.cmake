# mfcc.cmake: tests of the librosa-identical loader and MFCC (dsp/audio, dsp/mfcc,
# dsp/features), `ser features`, and the .npy/.npz writers (mpi/npy). All run in ~2 s.
#   mfcc_vectors   docs/mfcc.md §10 T1-T8 (analytic values, librosa regression values)
#   mfcc_loader    T9 loader rules, T10 order of operations, policies, loader reuse
#   mfcc_reference `ser features` vs the independent numpy pipeline (tests/ref_mfcc.py) on
#                  files in 13 formats/rates made with espeak-ng and sox: the signal equals
#                  librosa 0.10's load (22050 Hz exactly; other rates through libsoxr HQ called
#                  with ctypes as python-soxr does, to 1e-6), and the MFCC of that reference
#                  signal matches ser's to 1e-3 (end to end) (tests/test_features_ref.py)
#   mfcc_npz       .npy/.npz writer read back with np.load
add_executable(test_mfcc ${CMAKE_CURRENT_LIST_DIR}/test_mfcc.c)
target_link_libraries(test_mfcc PRIVATE ser_dsp ${MATH_LIB})
add_test(NAME mfcc_vectors COMMAND test_mfcc)

# The loader test writes its fixtures with libsndfile and uses libsoxr's one-shot API as the
# independent resampling reference.
add_executable(test_loader ${CMAKE_CURRENT_LIST_DIR}/test_loader.c)
target_link_libraries(test_loader PRIVATE ser_dsp PkgConfig::SNDFILE PkgConfig::SOXR ${MATH_LIB})
add_test(NAME mfcc_loader COMMAND test_loader)

add_test(NAME mfcc_reference
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_features_ref.py ${SER_BIN})

add_executable(test_mfcc_npz ${CMAKE_CURRENT_LIST_DIR}/test_mfcc_npz.c)
target_link_libraries(test_mfcc_npz PRIVATE ser_dist)
add_test(NAME mfcc_npz
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_features_npz.py
                 $<TARGET_FILE:test_mfcc_npz>)

# mfcc_logmel: `ser features --feature-type logmel|mfcc --n-mels N --deltas` vs ref_mfcc.py's
# log-mel dB matrix and scipy's savgol_filter deltas (librosa.feature.delta), 7 files x 5
# option sets, 1e-3 max abs; bad option values (tests/test_features_logmel.py).
add_test(NAME mfcc_logmel
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_features_logmel.py ${SER_BIN})
