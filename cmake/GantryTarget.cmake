# Project-wide settings for targets built from our own sources (not generated code).
function(gantry_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(GANTRY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
