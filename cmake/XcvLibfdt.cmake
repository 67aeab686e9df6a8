# libfdt and the channel configuration parser (xcvirtio_fdt) for the bare-metal targets.
#
#   include(XcvLibfdt)
#   xcv_bare_metal_fdt([LIBC <libc.a>])   # defines xcv_libfdt and xcvirtio_fdt (+ xcvirtio::fdt)
#
# libfdt's sources come from the Debian package linux-source-6.1 (scripts/dtc/libfdt of the
# kernel tarball). The build extracts only that folder into the build tree and compiles it with
# the target's flags, without the stack protector; no libfdt source is kept in the repository.
# That copy of libfdt has no fdt_check.c: ports/common/libfdt/fdt_check_full.c supplies
# fdt_check_full(). The C library headers libfdt_env.h wants (string.h, stdlib.h) come from the
# target's picolibc (XCV_PICOLIBC_DIR, set by the toolchain file); LIBC names the libc.a of the
# target's multilib when it is not ${XCV_PICOLIBC_DIR}/lib/libc.a (RISC-V: lib/rv64imac/lp64).
set(XCV_LINUX_SOURCE_TARBALL /usr/src/linux-source-6.1.tar.xz
    CACHE FILEPATH "Linux source tarball that holds scripts/dtc/libfdt (package linux-source-6.1)")
set(XCV_LINUX_SOURCE_TOPDIR linux-source-6.1
    CACHE STRING "Top folder inside XCV_LINUX_SOURCE_TARBALL")

function(xcv_bare_metal_fdt)
  cmake_parse_arguments(A "" "LIBC" "" ${ARGN})
  if(TARGET xcvirtio_fdt)
    return()
  endif()
  if(NOT EXISTS ${XCV_LINUX_SOURCE_TARBALL})
    message(FATAL_ERROR "${XCV_LINUX_SOURCE_TARBALL} not found: install linux-source-6.1 "
                        "(scripts/setup-deps.sh)")
  endif()
  set(_dir ${CMAKE_BINARY_DIR}/libfdt-src)
  set(_names fdt.c fdt_ro.c fdt_wip.c fdt_sw.c fdt_rw.c fdt_strerror.c fdt_empty_tree.c
             fdt_addresses.c)
  set(_headers fdt.h libfdt.h libfdt_env.h libfdt_internal.h)
  set(_outputs)
  foreach(_f ${_names} ${_headers})
    list(APPEND _outputs ${_dir}/libfdt/${_f})
  endforeach()
  # --touch: the extracted files are newer than the tarball, so the step runs once.
  add_custom_command(
    OUTPUT ${_outputs}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${_dir}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_dir}
    COMMAND tar -xJf ${XCV_LINUX_SOURCE_TARBALL} -C ${_dir} --touch --strip-components=3
            ${XCV_LINUX_SOURCE_TOPDIR}/scripts/dtc/libfdt
    DEPENDS ${XCV_LINUX_SOURCE_TARBALL}
    COMMENT "Extracting libfdt from ${XCV_LINUX_SOURCE_TARBALL}"
    VERBATIM)

  set(_srcs)
  foreach(_f ${_names})
    list(APPEND _srcs ${_dir}/libfdt/${_f})
  endforeach()
  set(_check ${PROJECT_SOURCE_DIR}/ports/common/libfdt/fdt_check_full.c)
  add_library(xcv_libfdt STATIC ${_srcs} ${_check})
  set_target_properties(xcv_libfdt PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  target_include_directories(xcv_libfdt SYSTEM PUBLIC ${_dir}/libfdt ${XCV_PICOLIBC_DIR}/include)
  # The kernel's sources as they are; the project's own file with the project's warnings.
  set_source_files_properties(${_srcs} PROPERTIES COMPILE_OPTIONS -w)
  set_source_files_properties(${_check} PROPERTIES COMPILE_OPTIONS
                              "-Wall;-Wextra;-Werror;-Wconversion;-Wshadow;-Wmissing-prototypes")
  # libfdt calls mem*/str* of the target's C library: link it after libfdt.
  if(A_LIBC)
    set(_libc ${A_LIBC})
  else()
    find_library(XCV_FDT_TARGET_LIBC NAMES c PATHS ${XCV_PICOLIBC_DIR}/lib NO_DEFAULT_PATH)
    if(NOT XCV_FDT_TARGET_LIBC)
      message(FATAL_ERROR "picolibc libc.a not found in ${XCV_PICOLIBC_DIR}/lib")
    endif()
    set(_libc ${XCV_FDT_TARGET_LIBC})
  endif()
  target_link_libraries(xcv_libfdt PUBLIC ${_libc} gcc) # libgcc: helpers the C library calls
  target_compile_options(xcv_libfdt PRIVATE -fno-stack-protector -ffunction-sections
                         -fdata-sections)

  add_library(xcvirtio_fdt STATIC ${PROJECT_SOURCE_DIR}/src/platform/fdt.c)
  add_library(xcvirtio::fdt ALIAS xcvirtio_fdt)
  set_target_properties(xcvirtio_fdt PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  target_link_libraries(xcvirtio_fdt PUBLIC xcvirtio xcv_libfdt)
  target_compile_options(xcvirtio_fdt PRIVATE -fno-stack-protector -ffunction-sections
                         -fdata-sections -Wall -Wextra -Werror -Wconversion -Wsign-conversion
                         -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla)
endfunction()
