# bash completion for the orfeas programs (mesh-gen, mesh-refine, dedup-cache,
# gpu-stats, mesh-render). Flags are read from each program's own --help, so
# completion never drifts from the program; installed once per program name.

_orfeas_flags()
{
    "$1" --help 2>/dev/null | grep -oE -- '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u
}

_orfeas_complete()
{
    local cur prev prog
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    prog=${COMP_WORDS[0]}
    case $prev in
        --cache-dir|--out|-o) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "glb obj ply stl" -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "auto inflate extrude relief" -- "$cur")); return ;;
        --mask) COMPREPLY=($(compgen -W "auto alpha border luma" -- "$cur")); return ;;
        --back) COMPREPLY=($(compgen -W "mirror flat" -- "$cur")); return ;;
        --backend) COMPREPLY=($(compgen -W "auto cpu cuda" -- "$cur")); return ;;
        --precision) COMPREPLY=($(compgen -W "auto fp32 fp16" -- "$cur")); return ;;
        --stage) COMPREPLY=($(compgen -W "refined final" -- "$cur")); return ;;
        --view) COMPREPLY=($(compgen -W "front back left right top three-quarter" -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_orfeas_flags "$prog")" -- "$cur"))
        return
    fi
    if [[ ${prog##*/} == dedup-cache ]] && [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "stats prune verify get put rm clear key lookup" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}

complete -o filenames -F _orfeas_complete mesh-gen mesh-refine dedup-cache gpu-stats mesh-render
