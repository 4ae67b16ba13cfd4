/**
 * The scripts `skiff completion bash|zsh|fish` prints. Each only hands the words typed so far to
 * `skiff __complete` (completion.ts decides, from the command table and the server), calling
 * skiff by the name it was typed as, so a binary off the PATH completes too. When skiff offers
 * nothing (a file argument, say), bash and zsh fall back to completing file names.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# skiff completion for bash: source it, or put it in /etc/bash_completion.d/skiff
_skiff() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  local candidates
  candidates=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o default -o nosort -F _skiff skiff
`;

const ZSH = `#compdef skiff
# skiff completion for zsh: put it on $fpath as _skiff, or source it after compinit
_skiff() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then
    compadd -Q -- "\${candidates[@]}"
  else
    _files
  fi
}
if [ "$funcstack[1]" = "_skiff" ]; then _skiff "$@"; else compdef _skiff skiff; fi
`;

const FISH = `# skiff completion for fish: put it in ~/.config/fish/completions/skiff.fish
function __skiff_complete
    set -l tokens (commandline -opc)
    # Quoted, so an empty word under the cursor is still passed (as "").
    set -l current (commandline -ct)
    $tokens[1] __complete $tokens[2..-1] "$current" 2>/dev/null
end
complete -c skiff -f -a '(__skiff_complete)'
`;

export function completionScript(shell: Shell): string {
  return { bash: BASH, zsh: ZSH, fish: FISH }[shell];
}
