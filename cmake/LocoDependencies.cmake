# Finds every third-party dependency once, as imported targets; see scripts/deps.txt for the Debian packages.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(loco_asio INTERFACE)
target_include_directories(loco_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(loco_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(loco_asio INTERFACE Threads::Threads)

if(LOCO_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()

# LibTorch is for src/train only (and the tools that link it). Without it the core still builds
# and tests; LOCO_WITH_TORCH=OFF forces that.
option(LOCO_WITH_TORCH "Build the LibTorch trainer (src/train)" ON)
if(LOCO_WITH_TORCH)
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    message(WARNING "LibTorch not found (apt-get install libtorch-dev): building without src/train")
    set(LOCO_WITH_TORCH OFF)
  endif()
endif()
