# Warning and sanitizer flags shared by every userspace target of the project.
set(EGRESSD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)

if(EGRESSD_SANITIZE)
  add_compile_options(-fsanitize=${EGRESSD_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${EGRESSD_SANITIZE})
endif()

# egressd_target_defaults(<target>): warnings as errors for our own code, generated headers visible.
function(egressd_target_defaults target)
  target_compile_options(${target} PRIVATE ${EGRESSD_WARNINGS} -Werror)
  target_include_directories(${target} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/userspace ${PROJECT_BINARY_DIR}/generated)
endfunction()
