# latency_bench: checks/s and p50/p99 against concurrency, per storage and
# algorithm, through liblimify.so.
add_executable(latency_bench latency_bench.cc)
target_link_libraries(latency_bench PRIVATE limify Threads::Threads)
