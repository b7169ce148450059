# loco_add_library(name SOURCES ... DEPS ...): a module library with loco's warnings and include root.
# loco_add_test(name LABELS ... SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.

set(LOCO_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough)
if(LOCO_WERROR)
  list(APPEND LOCO_WARNINGS -Werror)
endif()

if(LOCO_SANITIZE)
  string(REPLACE ";" "," _loco_san "${LOCO_SANITIZE}")
  add_compile_options(-fsanitize=${_loco_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_loco_san})
endif()

# LOCO_BUILD_FUZZ with clang: every target gets libFuzzer coverage instrumentation plus ASan/UBSan,
# so the fuzz binaries (tests/fuzz, which add -fsanitize=fuzzer themselves) see into the libraries.
# vptr and function checks are left out: their runtime is C++-only, and C programs link libloco too.
if(LOCO_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr,function
                      -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(loco_add_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE ${LOCO_WARNINGS})
  target_link_libraries(${name} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
endfunction()

function(loco_add_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_compile_options(${name} PRIVATE ${LOCO_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "LOCO_BIN=$<TARGET_FILE:loco>"
    DISCOVERY_TIMEOUT 30)
endfunction()
