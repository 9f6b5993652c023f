# Container, CLI and sharding tests (dsp/pack, mpi/cli, mpi/shard).
add_executable(test_pack test_pack.c)
target_link_libraries(test_pack PRIVATE ser_dsp ZLIB::ZLIB)
add_test(NAME pack_roundtrip_and_damage COMMAND test_pack ${CMAKE_CURRENT_BINARY_DIR})

add_executable(test_shard test_shard.c)
target_link_libraries(test_shard PRIVATE ser_dist)
add_test(NAME shard_blocks COMMAND test_shard)

# Train/validation/test split (mpi/split.c) against counts derived by hand.
add_executable(test_split test_split.c)
target_link_libraries(test_split PRIVATE ser_dist)
add_test(NAME split_counts COMMAND test_split)
