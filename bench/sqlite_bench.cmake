# The sqlite storage: checks per second from 1 and 4 processes, synchronous
# NORMAL / FULL / OFF, and the floor under a native single-statement path.
find_package(SQLite3 REQUIRED)
add_executable(sqlite_bench sqlite_bench.cc)
target_link_libraries(sqlite_bench PRIVATE limify_engine SQLite::SQLite3)
add_dependencies(sqlite_bench limify_all_plugins)
