# fish completion for jobwatch.
# Written by `python -m jobwatch.completions` (jobwatch/completions.py): edit it there.
# At each Tab it asks `jobwatch` what may go there (jobwatch/commands/complete.py).

function __jobwatch_complete
    set -lx _JOBWATCH_COMPLETE complete_fish
    set -lx _JOBWATCH_COMPLETE_LINE (commandline -cp)
    set -l answer (jobwatch 2>/dev/null)
    set -l kind $answer[1]
    set -e answer[1]
    set -l token (commandline -ct)
    set -l head (string replace -r -- '^(-[^=]*=)?.*$' '$1' "$token")  # --config=PATH
    set -l path (string replace -r -- '^-[^=]*=' '' "$token")
    switch "$kind"
        case file
            for candidate in (__fish_complete_path "$path")
                echo "$head$candidate"
            end
        case dir
            for candidate in (__fish_complete_directories "$path")
                echo "$head$candidate"
            end
        case plain
            for candidate in $answer
                echo $candidate
            end
    end
end

complete -c jobwatch -e
complete -c jobwatch -f -k -a '(__jobwatch_complete)'
