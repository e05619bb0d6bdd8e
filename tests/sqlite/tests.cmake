# The sqlite storage's tests, included from tests/CMakeLists.txt: the
# GoogleTest binary (tests/sqlite/*.cc) and the worker program that its
# multi-process tests start (tests/sqlite/worker/).
find_package(SQLite3 REQUIRED)
limify_add_test_dir(sqlite limify_engine SQLite::SQLite3)
add_executable(limify_sqlite_worker ${CMAKE_CURRENT_LIST_DIR}/worker/sqlite_worker.cc)
target_link_libraries(limify_sqlite_worker PRIVATE limify_engine SQLite::SQLite3 Threads::Threads)
add_dependencies(limify_sqlite_worker limify_all_plugins)
add_dependencies(limify_sqlite_tests limify_sqlite_worker)
target_compile_definitions(limify_sqlite_tests PRIVATE
  LIMIFY_SQLITE_WORKER="$<TARGET_FILE:limify_sqlite_worker>")
