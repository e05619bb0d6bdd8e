# memory_per_key: bytes per key in the memory storage and in Redis at
# 10^4 / 10^6 / 10^7 keys, through liblimify.so.
add_executable(memory_per_key memory_per_key.cc)
target_link_libraries(memory_per_key PRIVATE limify)
