# Project-wide settings for targets built from our own sources (not generated code).
function(gantry_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # GCC 12 at -O2 reports copies of std::optional as "maybe uninitialized"
  # (GCC bug 105562 and relatives) and std::string's own memcpy in
  # assign/replace as overlapping (-Wrestrict, GCC bug 105329): false
  # positives in libstdc++ that would break -Werror.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-restrict)
  endif()
  if(GANTRY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
