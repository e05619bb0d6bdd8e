# capi_bench: ns per check through liblimify.so (limify.h), the figure every
# binding's overhead is measured against.
add_executable(capi_bench capi_bench.cc)
target_link_libraries(capi_bench PRIVATE limify benchmark::benchmark)
