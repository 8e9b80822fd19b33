# bash completion for the orfeas programs and scripts (mesh-gen, mesh-refine,
# dedup-cache, gpu-stats, mesh-render, orfeas-batch, orfeas-prune-cron).
# Flags are read from each program's own --help, so completion never drifts
# from the program; installed once per program name.

# Every long flag a program's --help names (in "  -x, --flag", "[--flag V]").
_orfeas_flags()
{
    "$1" --help 2>/dev/null | grep -oE -- '(^|[ ,[|])--[a-z][a-z0-9-]*' | sed 's/^[ ,[|]*//' | sort -u
}

# dedup-cache: the flags of one command (its line in --help) and the global ones.
_orfeas_dedup_flags()
{
    local help
    help=$("$1" --help 2>/dev/null)
    {
        grep -E "^  $2( |$)" <<<"$help" | grep -oE -- '--[a-z][a-z0-9-]*'
        sed -n '/^options/,$p' <<<"$help" | grep -oE -- '--[a-z][a-z0-9-]*'
    } | sort -u
}

_orfeas_complete()
{
    local cur prev prog cmd i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    prog=${COMP_WORDS[0]##*/}
    case $prev in
        --cache-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --out|-o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --format|-f) COMPREPLY=($(compgen -W "glb obj ply stl" -- "$cur")); return ;;
        --mode|-m) COMPREPLY=($(compgen -W "auto inflate extrude relief" -- "$cur")); return ;;
        --mask) COMPREPLY=($(compgen -W "auto alpha border luma" -- "$cur")); return ;;
        --back) COMPREPLY=($(compgen -W "mirror flat" -- "$cur")); return ;;
        --backend) COMPREPLY=($(compgen -W "auto cpu cuda" -- "$cur")); return ;;
        --precision) COMPREPLY=($(compgen -W "auto fp32 fp16" -- "$cur")); return ;;
        --stage) COMPREPLY=($(compgen -W "refined final" -- "$cur")); return ;;
        --view) COMPREPLY=($(compgen -W "front back left right top three-quarter" -- "$cur")); return ;;
        --frame) COMPREPLY=($(compgen -W "unit bbox" -- "$cur")); return ;;
        --background) COMPREPLY=($(compgen -W "transparent white black grey '#rrggbb'" -- "$cur")); return ;;
        --program) COMPREPLY=($(compgen -W "mesh-gen mesh-refine" -- "$cur")); return ;;
        --ttl|--max-age|--watch|-w) COMPREPLY=($(compgen -W "30m 1h 12h 7d 0" -- "$cur")); return ;;
        --max-size|--vram-budget|--max-pixels) COMPREPLY=($(compgen -W "500M 5G 10G" -- "$cur")); return ;;
        --jobs|-j|--resolution|--voxel-resolution|--rough-resolution|--refined-resolution|--smooth| \
        --max-triangles|--max-error|--depth|-d|--thickness|--base|--fill-holes|--weld|--floaters| \
        --max-triangles-in|--turntable|--size|--samples|--count|-n|--queue-depth|--shard| \
        --sshlogin|-S|--id|-i) return ;;
    esac
    if [[ $prog == dedup-cache ]]; then
        cmd=
        for ((i = 1; i < COMP_CWORD; i++)); do
            case ${COMP_WORDS[i]} in
                stats|prune|verify|get|put|rm|clear|config|key|lookup) cmd=${COMP_WORDS[i]}; break ;;
            esac
        done
        if [[ -z $cmd && $cur != -* ]]; then
            COMPREPLY=($(compgen -W "stats prune verify get put rm clear config key lookup" -- "$cur"))
            return
        fi
        if [[ $cur == -* ]]; then
            if [[ -n $cmd ]]; then
                COMPREPLY=($(compgen -W "$(_orfeas_dedup_flags "${COMP_WORDS[0]}" "$cmd")" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_orfeas_flags "${COMP_WORDS[0]}")" -- "$cur"))
            fi
            return
        fi
        [[ $cmd == put ]] && COMPREPLY=($(compgen -f -- "$cur"))
        [[ $cmd == config ]] && COMPREPLY=($(compgen -W "max-size max-age" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_orfeas_flags "${COMP_WORDS[0]}")" -- "$cur"))
        return
    fi
    case $prog in
        gpu-stats|orfeas-prune-cron) return ;; # options only
        orfeas-batch) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    COMPREPLY=($(compgen -f -- "$cur"))
}

complete -o filenames -F _orfeas_complete mesh-gen mesh-refine dedup-cache gpu-stats mesh-render \
    orfeas-batch orfeas-prune-cron
