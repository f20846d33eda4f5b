# Man pages, written in Markdown (docs/man/*.md) and converted at build time with
# go-md2man (as crun does) or, failing that, pandoc; both are Debian packages that
# scripts/setup installs. Without either, rdbox still builds and installs, without pages.
# Also the bash and zsh completions (completions/).
set(RDBOX_MAN_PAGES rdbox.1 rdbox-run.1 rdbox-compare.1 rdbox-pipeline.1 rdbox-doctor.1 rdbox-oci.1)
find_program(RDBOX_GO_MD2MAN go-md2man)
find_program(RDBOX_PANDOC pandoc)
set(RDBOX_MAN_OUTPUTS "")
if(RDBOX_GO_MD2MAN OR RDBOX_PANDOC)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man)
  foreach(page ${RDBOX_MAN_PAGES})
    # @VERSION@ in the header line becomes the project's version.
    set(VERSION ${PROJECT_VERSION})
    configure_file(${PROJECT_SOURCE_DIR}/docs/man/${page}.md ${CMAKE_BINARY_DIR}/man/${page}.md @ONLY)
    set(src ${CMAKE_BINARY_DIR}/man/${page}.md)
    set(out ${CMAKE_BINARY_DIR}/man/${page})
    if(RDBOX_GO_MD2MAN)
      set(convert ${RDBOX_GO_MD2MAN} -in ${src} -out ${out})
    else()
      set(convert ${RDBOX_PANDOC} --standalone --from markdown --to man ${src} -o ${out})
    endif()
    add_custom_command(OUTPUT ${out} COMMAND ${convert} DEPENDS ${src}
                       COMMENT "Man page ${page}" VERBATIM)
    list(APPEND RDBOX_MAN_OUTPUTS ${out})
  endforeach()
  add_custom_target(rdbox-man ALL DEPENDS ${RDBOX_MAN_OUTPUTS})
  # Building rdbox (scripts/setup builds that target only) makes the pages too, so that
  # `cmake --install` after it has them.
  add_dependencies(rdbox rdbox-man)
  install(FILES ${RDBOX_MAN_OUTPUTS} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
  set(RDBOX_HAVE_MAN ON)
else()
  message(STATUS "rdbox: no go-md2man or pandoc: building without man pages (scripts/setup installs go-md2man)")
  set(RDBOX_HAVE_MAN OFF)
endif()

set(RDBOX_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE STRING "Where the bash completion goes, under the prefix")
set(RDBOX_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
    CACHE STRING "Where the zsh completion goes, under the prefix (Debian's fpath has it)")
install(FILES completions/rdbox.bash DESTINATION ${RDBOX_BASH_COMPLETION_DIR} RENAME rdbox COMPONENT runtime)
install(FILES completions/_rdbox DESTINATION ${RDBOX_ZSH_COMPLETION_DIR} COMPONENT runtime)
