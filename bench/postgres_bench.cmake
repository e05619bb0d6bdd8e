# postgres_bench: the postgres storage beside pgbench (see postgres_bench.cc).
add_executable(postgres_bench postgres_bench.cc)
target_compile_definitions(postgres_bench PRIVATE LIMIFY_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(postgres_bench PRIVATE limify_engine Threads::Threads)
add_dependencies(postgres_bench limify_all_plugins)
