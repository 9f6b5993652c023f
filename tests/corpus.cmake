# Stand-in TESS corpus (jobs/make_corpus.py).
#  corpus_generate   makes a 10-word corpus (140 files) in ${CMAKE_BINARY_DIR}/corpus10 and
#                    checks names/folders, 16-bit mono 24414 Hz and 1.0-3.5 s per soxi,
#                    byte-identity across --jobs, seed sensitivity, skip/refuse on re-run
#                    (tests/corpus_check.py).  Sets the fixture corpus10: other tests can use
#                    that corpus with FIXTURES_REQUIRED corpus10.
#  corpus_lr_smoke   the difficulty-check script runs on corpus10 and prints an accuracy
#                    (the real measurement, on the full corpus, is in results/corpus.md).
#  corpus_bad_words, corpus_lr_bad_input: bad input is refused with a clear message.
set(SER_CORPUS_GEN ${CMAKE_SOURCE_DIR}/jobs/make_corpus.py)
set(SER_CORPUS10 ${CMAKE_BINARY_DIR}/corpus10)

add_test(NAME corpus_generate
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_check.py ${CMAKE_BINARY_DIR} --words 10)
set_tests_properties(corpus_generate PROPERTIES FIXTURES_SETUP corpus10 TIMEOUT 120)

add_test(NAME corpus_lr_smoke
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_lr.py ${SER_CORPUS10} --jobs 2)
set_tests_properties(corpus_lr_smoke PROPERTIES FIXTURES_REQUIRED corpus10 TIMEOUT 120
    PASS_REGULAR_EXPRESSION "140 files, mean MFCC \\(40 features\\).*test accuracy [01]\\.[0-9]+")

add_test(NAME corpus_bad_words
         COMMAND ${SER_PYTHON} ${SER_CORPUS_GEN} --words 201 --out ${CMAKE_BINARY_DIR}/corpus-bad)
set_tests_properties(corpus_bad_words PROPERTIES
    PASS_REGULAR_EXPRESSION "--words must be between 1 and 200 \\(got 201\\)")

add_test(NAME corpus_lr_bad_input
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_lr.py ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(corpus_lr_bad_input PROPERTIES
    PASS_REGULAR_EXPRESSION "corpus_lr: error: .*no .wav files found")
