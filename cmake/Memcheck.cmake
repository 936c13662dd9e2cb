# Memory checks: the library and the binary compiled again with AddressSanitizer and
# UndefinedBehaviorSanitizer (gradflow_asan, gradflow-asan), run by the ctest integration.memcheck.
# The sources, definitions, include directories and libraries are the main targets' own; the
# binary also gets tests/memcheck/keep_modules.c (a dlclose that keeps Open MPI's components mapped,
# so that LeakSanitizer can name their frames).
include(CheckCCompilerFlag)
set(GRADFLOW_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
set(CMAKE_REQUIRED_LINK_OPTIONS ${GRADFLOW_SANITIZER_FLAGS})
check_c_compiler_flag("${GRADFLOW_SANITIZER_FLAGS}" GRADFLOW_HAVE_SANITIZERS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
set(GRADFLOW_MEMCHECK_DEFAULT OFF)
if(BUILD_TESTING AND GRADFLOW_HAVE_SANITIZERS)
  set(GRADFLOW_MEMCHECK_DEFAULT ON)
endif()
option(GRADFLOW_MEMCHECK "Build gradflow-asan (AddressSanitizer + UBSan) and the memcheck test" ${GRADFLOW_MEMCHECK_DEFAULT})
if(NOT GRADFLOW_MEMCHECK)
  return()
endif()
if(NOT GRADFLOW_HAVE_SANITIZERS)
  message(FATAL_ERROR "GRADFLOW_MEMCHECK: ${CMAKE_C_COMPILER} does not accept ${GRADFLOW_SANITIZER_FLAGS}; configure with -DGRADFLOW_MEMCHECK=OFF")
endif()

# gf_sanitized_copy(NEW ORIGINAL): copy ORIGINAL's build settings onto NEW, with the sanitizers.
function(gf_sanitized_copy new original)
  foreach(property INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
    set_property(TARGET ${new} PROPERTY ${property} $<TARGET_PROPERTY:${original},${property}>)
  endforeach()
  # -Wformat-truncation relies on value ranges that -O1 does not compute: false alarms that the -O2 build does not give
  target_compile_options(${new} PRIVATE ${GRADFLOW_SANITIZER_FLAGS} -Wno-format-truncation)
  target_link_options(${new} PUBLIC -fsanitize=address,undefined)
endfunction()

get_target_property(gf_library_sources gradflow SOURCES)
get_target_property(gf_library_libraries gradflow LINK_LIBRARIES)
add_library(gradflow_asan STATIC ${gf_library_sources})
gf_sanitized_copy(gradflow_asan gradflow)
target_include_directories(gradflow_asan INTERFACE $<TARGET_PROPERTY:gradflow,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(gradflow_asan PUBLIC ${gf_library_libraries})

get_target_property(gf_binary_sources gradflow-bin SOURCES)
add_executable(gradflow-asan ${gf_binary_sources} tests/memcheck/keep_modules.c)
gf_sanitized_copy(gradflow-asan gradflow-bin)
target_link_libraries(gradflow-asan PRIVATE gradflow_asan)
