# The 'docs' target: Doxygen over the public headers, README.md and docs/*.md, with every
# warning (including undocumented public names) treated as an error. Output: <build>/docs/html.

find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "Doxygen not found: the 'docs' target is not available")
  return()
endif()

set(XCV_DOCS_OUTPUT_DIR "${PROJECT_BINARY_DIR}/docs")
set(XCV_DOCS_INPUT "\"${PROJECT_SOURCE_DIR}/include/xcvirtio\" \"${PROJECT_SOURCE_DIR}/README.md\"")
file(GLOB _xcv_doc_pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
foreach(_page IN LISTS _xcv_doc_pages)
  string(APPEND XCV_DOCS_INPUT " \"${_page}\"")
endforeach()

configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${XCV_DOCS_OUTPUT_DIR}/Doxyfile" @ONLY)

# Always re-run (Doxygen takes about a second): a failed run must never look up to date.
add_custom_target(docs
  COMMAND ${CMAKE_COMMAND} -E rm -rf "${XCV_DOCS_OUTPUT_DIR}/html"
  COMMAND Doxygen::doxygen "${XCV_DOCS_OUTPUT_DIR}/Doxyfile"
  WORKING_DIRECTORY "${XCV_DOCS_OUTPUT_DIR}"
  COMMENT "Doxygen: public API documentation (warnings are errors) -> ${XCV_DOCS_OUTPUT_DIR}/html"
  VERBATIM)
