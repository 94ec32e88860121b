# Warning and sanitizer flags shared by every userspace target of the project.
set(EGRESSD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)

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
