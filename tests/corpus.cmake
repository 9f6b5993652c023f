# Stand-in corpora (jobs/make_corpus.py, docs/corpus.md).
#  corpus_generate   makes a 10-word corpus (140 files) in ${CMAKE_BINARY_DIR}/corpus10 and
#                    checks names/folders, 16-bit mono 24414 Hz and 1.0-3.5 s per soxi,
#                    byte-identity across --jobs, seed sensitivity, skip/refuse on re-run
#                    (tests/corpus_check.py).  Sets the fixture corpus10: other tests can use
#                    that corpus with FIXTURES_REQUIRED corpus10.
#  corpus_lr_smoke   the difficulty-check script on corpus10 (140 files): the mean-MFCC
#                    logistic regression's accuracy, mean of 20 stratified 70/30 splits, must
#                    lie in [0.60, 0.90] (chance 0.14; measured 0.717; how the bounds were
#                    chosen: tests/corpus_lr.py's header). The script's exit status decides.
#                    The full-corpus measurement is in results/corpus.md.
#  corpus_bad_words, corpus_lr_bad_input: bad input is refused with exit status 2 and a clear
#                    message on stderr (tests/expect_fail.sh checks both).
#  corpus_ravdess, corpus_cremad, corpus_savee, corpus_emodb: the other stand-ins
#                    (tests/corpus_check.py --corpus C): the full corpus's exact file names and
#                    counts (--list, no synthesis) against names written out from the real
#                    corpus's documentation, one voice per speaker, then a small generated corpus
#                    (2 speakers, 1-6 sentences: 32-91 files) checked with soxi (rate, mono,
#                    16 bits, duration range), its quirk and defect files (RAVDESS songs and
#                    .mp4s; CREMA-D's undecodable and silent files and git-lfs pointers, also
#                    all 7,442 as pointers; SAVEE's flat layout) and a --jobs 1 subset
#                    byte-identical to it. Then `ser scan --csv --skipped` (--ser ${SER_BIN}) on
#                    each tree, every manifest row (header path,corpus,speaker,gender,label; corpus,
#                    namespaced speaker "ravdess:01", gender from the corpus's documentation -
#                    CREMA-D's from its VideoDemographics.csv -, canonical label: RAVDESS 02 calm,
#                    EmoDB L boredom) and every skip with its category (RAVDESS song/video,
#                    --ravdess-song; CREMA-D git-lfs pointer "run git lfs pull", undecodable,
#                    silent) and the summary counts compared with what the test derives from how
#                    the tree was made (the names above, the generator's documented defects),
#                    never from ser: the small corpus with and without --no-validate (the
#                    name-only view); the full corpus's names as empty files (all 7,442 CREMA-D
#                    git-lfs pointers; SAVEE's two layouts in one tree, each recording once);
#                    a mixed tree (file symlinks to the corpus, its --jobs 1 copy and a 14-file
#                    TESS made here): the union, each file with its own corpus, copies counted
#                    as duplicates; and the CSV round trip (scan --csv of the mixed tree read
#                    back with scan --csv m.csv gives the identical CSV). 15-60 s each on 2 cores
#                    (the scan checks add ~5 s, mostly making the TESS); scratch folders
#                    ${CMAKE_BINARY_DIR}/corpus-C* are removed on success.
#  corpus_bad_corpus_options: a size option of the wrong kind is refused (exit 2, message).
#  corpus_difficulty_smoke: tests/corpus_difficulty.py (speaker ID, emotion random split vs
#                    leave-one-speaker-out) runs on corpus10 and prints its four accuracies (exit
#                    status 0); the measurements on full corpora are in results/corpus.md.
#  corpus_difficulty_bad_input: a folder without speech files of the corpus is refused (exit 2).
set(SER_CORPUS_GEN ${CMAKE_SOURCE_DIR}/jobs/make_corpus.py)
set(SER_CORPUS10 ${CMAKE_BINARY_DIR}/corpus10)

add_test(NAME corpus_generate
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_check.py ${CMAKE_BINARY_DIR} --words 10)
set_tests_properties(corpus_generate PROPERTIES FIXTURES_SETUP corpus10 TIMEOUT 300)

add_test(NAME corpus_lr_smoke
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_lr.py ${SER_CORPUS10} --jobs 2
                 --files 140 --splits 20 --min-acc 0.60 --max-acc 0.90)
set_tests_properties(corpus_lr_smoke PROPERTIES FIXTURES_REQUIRED corpus10 TIMEOUT 120)

# Tests of refusals: tests/expect_fail.sh [--rc N] [--] REGEX CMD... passes only if CMD exits
# with status N (any clean failure 1-125 without --rc) AND its stderr matches REGEX (grep -E;
# "--" before a REGEX that starts with "-"). No PASS_REGULAR_EXPRESSION: it would override
# the exit status.
set(SER_EXPECT_FAIL bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh)
add_test(NAME corpus_bad_words
         COMMAND ${SER_EXPECT_FAIL} --rc 2 -- "--words must be between 1 and 200 \\(got 201\\)"
                 ${SER_PYTHON} ${SER_CORPUS_GEN} --words 201
                 --out ${CMAKE_BINARY_DIR}/corpus-bad)

add_test(NAME corpus_lr_bad_input
         COMMAND ${SER_EXPECT_FAIL} --rc 2 "corpus_lr: error: .*no \\.wav files found"
                 ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_lr.py ${CMAKE_SOURCE_DIR}/docs)
set_tests_properties(corpus_bad_words corpus_lr_bad_input PROPERTIES TIMEOUT 60)

foreach(c ravdess cremad savee emodb)
  add_test(NAME corpus_${c}
           COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_check.py ${CMAKE_BINARY_DIR}
                   --corpus ${c} --ser ${SER_BIN})
  set_tests_properties(corpus_${c} PROPERTIES TIMEOUT 300)
endforeach()

add_test(NAME corpus_bad_corpus_options
         COMMAND ${SER_EXPECT_FAIL} --rc 2 -- "--words is for TESS; emodb uses --sentences"
                 ${SER_PYTHON} ${SER_CORPUS_GEN} --corpus emodb --words 3
                 --out ${CMAKE_BINARY_DIR}/corpus-bad)
set_tests_properties(corpus_bad_corpus_options PROPERTIES TIMEOUT 60)

add_test(NAME corpus_difficulty_smoke
         COMMAND ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_difficulty.py ${SER_CORPUS10}
                 --corpus tess --jobs 2)
set_tests_properties(corpus_difficulty_smoke PROPERTIES FIXTURES_REQUIRED corpus10 TIMEOUT 120)
add_test(NAME corpus_difficulty_bad_input
         COMMAND ${SER_EXPECT_FAIL} --rc 2 "corpus_difficulty: error: .*no ravdess speech files found"
                 ${SER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/corpus_difficulty.py
                 ${CMAKE_CURRENT_SOURCE_DIR} --corpus ravdess)
set_tests_properties(corpus_difficulty_bad_input PROPERTIES TIMEOUT 60)
