# redis_bench: the redis storage beside redis-benchmark (see redis_bench.cc).
add_executable(redis_bench redis_bench.cc)
target_compile_definitions(redis_bench PRIVATE LIMIFY_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(redis_bench PRIVATE limify_engine limify_redis_core Threads::Threads)
add_dependencies(redis_bench limify_all_plugins)
