# Sanitizer and fuzzing instrumentation for every target defined after this file is included.
#
# XCV_SANITIZE   -fsanitize=address,undefined, abort on the first report.
# XCV_BUILD_FUZZ coverage instrumentation (-fsanitize=fuzzer-no-link) for the library and the
#                tests; the fuzz targets link -fsanitize=fuzzer (see test/CMakeLists.txt).

if(XCV_SANITIZE)
  if(CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "XCV_SANITIZE needs a hosted build (sanitizer runtimes are host-only)")
  endif()
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(XCV_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "XCV_BUILD_FUZZ needs clang (libFuzzer); configure with "
                        "-DCMAKE_C_COMPILER=clang or use the 'fuzz' preset")
  endif()
  if(CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "XCV_BUILD_FUZZ needs a hosted build")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
