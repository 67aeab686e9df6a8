# Extract the usage example from README.md and build it as the unit test xcv_readme_example.
#
# The example is the ```c fenced block between the lines
#   <!-- readme-example:begin -->   and   <!-- readme-example:end -->
# It is written to the build tree at configure time (only when its text changed, so it does not
# force rebuilds), and README.md is a configure dependency: editing it re-runs CMake.
# A #line directive makes compiler diagnostics point into README.md.

function(xcv_readme_example readme)
  set(_begin "<!-- readme-example:begin -->")
  set(_end "<!-- readme-example:end -->")
  if(NOT EXISTS "${readme}")
    message(WARNING "xcv_readme_example: ${readme} not found; README example not built")
    return()
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${readme}")
  file(READ "${readme}" _text)

  string(FIND "${_text}" "${_begin}" _b)
  string(FIND "${_text}" "${_end}" _e)
  if(_b EQUAL -1 OR _e EQUAL -1 OR _e LESS _b)
    message(FATAL_ERROR "${readme}: missing or misordered '${_begin}' / '${_end}' markers")
  endif()
  string(LENGTH "${_begin}" _blen)
  math(EXPR _start "${_b} + ${_blen}")
  math(EXPR _len "${_e} - ${_start}")
  string(SUBSTRING "${_text}" ${_start} ${_len} _block)

  # Keep only the body of the ```c fence.
  string(FIND "${_block}" "```c\n" _f)
  if(_f EQUAL -1)
    message(FATAL_ERROR "${readme}: the README example must be a ```c fenced block")
  endif()
  math(EXPR _body_start "${_f} + 5")
  string(SUBSTRING "${_block}" ${_body_start} -1 _body)
  string(FIND "${_body}" "```" _close REVERSE)
  if(_close EQUAL -1)
    message(FATAL_ERROR "${readme}: unterminated ```c block in the README example")
  endif()
  string(SUBSTRING "${_body}" 0 ${_close} _body)

  # Line number (1-based) of the first line of code in README.md, for #line.
  math(EXPR _prefix_len "${_start} + ${_body_start}")
  string(SUBSTRING "${_text}" 0 ${_prefix_len} _prefix)
  string(REGEX MATCHALL "\n" _nl "${_prefix}")
  list(LENGTH _nl _line)
  math(EXPR _line "${_line} + 1")

  set(_out "${CMAKE_CURRENT_BINARY_DIR}/readme_example/readme_example.c")
  set(_content "/* Generated from README.md by cmake/ReadmeExample.cmake. Do not edit. */\n")
  string(APPEND _content "#line ${_line} \"${readme}\"\n${_body}")
  set(_old "")
  if(EXISTS "${_out}")
    file(READ "${_out}" _old)
  endif()
  if(NOT _old STREQUAL _content)
    file(WRITE "${_out}" "${_content}")
  endif()

  add_executable(xcv_readme_example "${_out}")
  target_link_libraries(xcv_readme_example PRIVATE xcvirtio::xcvirtio)
  target_compile_options(xcv_readme_example PRIVATE -Wall -Wextra -Werror)
  add_test(NAME xcv_readme_example COMMAND xcv_readme_example)
  set_tests_properties(xcv_readme_example PROPERTIES LABELS unit TIMEOUT 30)
endfunction()
