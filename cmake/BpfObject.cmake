# egressd_bpf_object(<name> <source.bpf.c>)
#
# Compiles a CO-RE BPF program with clang for the BPF target, links it with `bpftool gen object`
# (which also strips DWARF and resolves static linking) and generates a libbpf skeleton with
# `bpftool gen skeleton`. Creates the INTERFACE target `bpf_<name>` whose include directory holds
# `<name>.skel.h`; link it to get the skeleton. Header dependencies are tracked with a depfile.
find_program(BPF_CLANG NAMES clang-19 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(EGRESSD_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(EGRESSD_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "unsupported architecture for BPF: ${CMAKE_SYSTEM_PROCESSOR}")
endif()
# UAPI headers (linux/bpf.h, asm/types.h) come from the host's multiarch include directory.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch OUTPUT_VARIABLE EGRESSD_MULTIARCH
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT EGRESSD_MULTIARCH)
  set(EGRESSD_MULTIARCH ${CMAKE_SYSTEM_PROCESSOR}-linux-gnu)
endif()

function(egressd_bpf_object name source)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf_${name})
  set(tmp_obj ${out_dir}/${name}.tmp.o)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  file(MAKE_DIRECTORY ${out_dir})
  get_filename_component(src ${source} ABSOLUTE)
  add_custom_command(
    OUTPUT ${obj} ${skel}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${EGRESSD_BPF_ARCH}
            -Wall -Wextra $<$<BOOL:${EGRESSD_WERROR}>:-Werror> -Wno-unused-parameter
            -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/bpf
            -idirafter /usr/include/${EGRESSD_MULTIARCH}
            -MD -MF ${tmp_obj}.d -MT ${obj} -c ${src} -o ${tmp_obj}
    COMMAND ${BPFTOOL} gen object ${obj} ${tmp_obj}
    COMMAND sh -c "${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}"
    DEPENDS ${src}
    DEPFILE ${tmp_obj}.d
    COMMENT "BPF ${name}: clang -target bpf, bpftool gen object + skeleton"
    VERBATIM)
  add_custom_target(bpf_${name}_gen DEPENDS ${obj} ${skel})
  add_library(bpf_${name} INTERFACE)
  add_dependencies(bpf_${name} bpf_${name}_gen)
  # SYSTEM: the generated skeleton is C and does not follow our C++ warning set.
  target_include_directories(bpf_${name} SYSTEM INTERFACE ${out_dir})
  target_link_libraries(bpf_${name} INTERFACE PkgConfig::LIBBPF)
  set_property(TARGET bpf_${name} PROPERTY EGRESSD_BPF_OBJECT ${obj})
endfunction()
