# bash completion for jobwatch (bash 4.4 or newer; needs no bash-completion package).
# Written by `python -m jobwatch.completions` (jobwatch/completions.py): edit it there.
# At each Tab it asks `jobwatch` what may go there (jobwatch/commands/complete.py).
# jobwatch gets the line up to the cursor and splits it itself: bash has broken its words at
# ':', '@' and '=' (COMP_WORDBREAKS), which would cut `claret@staging:88` in five. The answers
# come back cut to the part of the word bash replaces ($2), so they fit whatever breaks are set.

_jobwatch_completion() {
    local -a answer
    mapfile -t answer < <(_JOBWATCH_COMPLETE=complete_bash \
        _JOBWATCH_COMPLETE_LINE="${COMP_LINE:0:COMP_POINT}" \
        _JOBWATCH_COMPLETE_CUR="$2" "$1" 2>/dev/null)
    COMPREPLY=()
    case ${answer[0]-} in
        file) compopt -o filenames; mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
        dir) compopt -o filenames; mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
        plain)
            COMPREPLY=("${answer[@]:1}")
            local candidate
            for candidate in "${COMPREPLY[@]}"; do
                # `claret:` and `claret@` go on with an id or a profile: no space after them.
                if [[ $candidate == *[:@] ]]; then compopt -o nospace; break; fi
            done ;;
    esac
    return 0
}

complete -F _jobwatch_completion jobwatch
