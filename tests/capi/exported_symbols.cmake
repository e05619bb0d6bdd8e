# cmake -DLIBRARY=<liblimify.so> -DHEADER=<limify.h> -DNM=<nm> -P exported_symbols.cmake
#
# The dynamic symbols liblimify.so defines must be exactly the functions
# limify.h declares with LIMIFY_EXPORT: a missing one breaks callers, an
# extra one (an engine, Abseil or C++ runtime symbol) leaks an ABI nobody
# promised.
file(READ "${HEADER}" header)
# Declarations span lines: "LIMIFY_EXPORT <type> limify_name(".
string(REGEX MATCHALL "LIMIFY_EXPORT[^;(]*[ *]limify_[a-z0-9_]+\\(" decls "${header}")
set(declared "")
foreach(decl IN LISTS decls)
  string(REGEX MATCH "limify_[a-z0-9_]+\\($" name "${decl}")
  string(REPLACE "(" "" name "${name}")
  list(APPEND declared "${name}")
endforeach()
list(SORT declared)
list(LENGTH declared n_declared)
if(n_declared LESS 10)
  message(FATAL_ERROR "found only ${n_declared} declarations in ${HEADER}: the parser is broken")
endif()

execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
                OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" lines "${nm_out}")
set(exported "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>[@@VERSION]"; type A is the version node itself.
  if(line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^@ ]+)")
    if(NOT CMAKE_MATCH_1 STREQUAL "A")
      list(APPEND exported "${CMAKE_MATCH_2}")
    endif()
  endif()
endforeach()
list(SORT exported)

set(missing ${declared})
list(REMOVE_ITEM missing ${exported})
set(extra ${exported})
list(REMOVE_ITEM extra ${declared})
if(missing OR extra)
  list(JOIN missing " " missing)
  list(JOIN extra " " extra)
  message(FATAL_ERROR "liblimify.so exports differ from limify.h\n"
                      "  declared but not exported: ${missing}\n"
                      "  exported but not declared: ${extra}")
endif()
list(LENGTH exported n)
message(STATUS "liblimify.so exports exactly the ${n} functions of limify.h")
