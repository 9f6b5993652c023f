# Container, CLI and sharding tests (dsp/pack, mpi/cli, mpi/shard).
add_executable(test_pack test_pack.c)
target_link_libraries(test_pack PRIVATE ser_dsp ZLIB::ZLIB)
add_test(NAME pack_roundtrip_and_damage COMMAND test_pack ${CMAKE_CURRENT_BINARY_DIR})

add_executable(test_shard test_shard.c)
target_link_libraries(test_shard PRIVATE ser_dist)
add_test(NAME shard_blocks COMMAND test_shard)
