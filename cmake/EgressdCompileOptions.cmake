# Warning and sanitizer flags shared by every userspace target of the project.
set(EGRESSD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
# clang's -Wnull-dereference looks at what is written; GCC 12's works on the optimized code and
# reports paths inside libstdc++ and moodycamel's queue that cannot be taken (15 reports in a full
# build, none in egressd's code). The project's compiler is clang-19 (docs/toolchain.md); a GCC
# build compiles with the rest of the set.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(APPEND EGRESSD_WARNINGS -Wnull-dereference)
endif()

if(EGRESSD_SANITIZE)
  add_compile_options(-fsanitize=${EGRESSD_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${EGRESSD_SANITIZE})
endif()

# Warnings are errors in CI and developer builds (scripts/build.sh turns this on), not in a user's
# or packager's build, where a newer compiler's new warning must not stop the build.
option(EGRESSD_WERROR "Treat compiler warnings as errors" OFF)
if(EGRESSD_WERROR)
  list(APPEND EGRESSD_WARNINGS -Werror)
endif()

# egressd_target_defaults(<target>): the warning set for our own code, generated headers visible.
function(egressd_target_defaults target)
  target_compile_options(${target} PRIVATE ${EGRESSD_WARNINGS})
  target_include_directories(${target} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/userspace ${PROJECT_BINARY_DIR}/generated)
endfunction()
