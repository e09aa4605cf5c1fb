"""Command line: ``nablagrad list | train RECIPE | eval RECIPE | sample RECIPE`` (also
``python -m nablagrad``).

``train`` runs a recipe with its config overridden by ``--key=value`` options (``--quick``,
``--seed``, ``--resume``, ``--data-root``, ``--device`` and every field of the recipe's config;
``nablagrad train RECIPE --help`` lists them). Outputs go to ``runs/RECIPE/``. ``eval`` loads
the recipe's best weights (or ``--weights=PATH``) and evaluates them on the test set.
``sample`` loads a language model's best weights (or ``--weights=PATH``) and prints text generated
after ``--prompt`` with the given decoding options.
"""
from __future__ import annotations

import dataclasses
import sys

USAGE = """usage: nablagrad list
       nablagrad train RECIPE [--key=value ...]   (e.g. --quick --seed=1 --epochs=5 --resume)
       nablagrad eval RECIPE [--weights=PATH] [--key=value ...]
       nablagrad sample RECIPE [--weights=PATH] [--prompt=TEXT] [--tokens=N] [--temperature=T]
                               [--top-k=K] [--top-p=P] [--seed=S] [--key=value ...]
       nablagrad train RECIPE --help              (the recipe's options and defaults)"""


def list_recipes() -> int:
    from .recipes import RECIPES, get_recipe
    width = max(map(len, RECIPES))
    for name in RECIPES:
        recipe = get_recipe(name)
        print(f"{name:<{width}}  {recipe.description}\n{'':<{width}}  target: {recipe.target}")
    return 0


def recipe_help(recipe) -> int:
    print(f"nablagrad train {recipe.name}: {recipe.description} (target: {recipe.target})\n"
          f"options (default; --quick sets {recipe.quick}):")
    for f in dataclasses.fields(recipe.config):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        print(f"  --{f.name.replace('_', '-')}={default}")
    return 0


class UsageError(Exception):
    """A bad command line: printed with the usage, exit status 2."""


def run_recipe(command, name, tokens) -> int:
    from .recipes import get_recipe, make_config
    from .recipes.classify import TrainingDiverged
    try:
        recipe = get_recipe(name)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    if "--help" in tokens or "-h" in tokens:
        return recipe_help(recipe)
    weights = None
    if command == "eval":
        if recipe.evaluate is None:
            raise UsageError(f"recipe {name} has no separate evaluation; `nablagrad train "
                             f"{name}` prints its result")
        rest, it = [], iter(tokens)
        for t in it:
            if t.startswith("--weights="):
                weights = t.split("=", 1)[1]
            elif t == "--weights":
                weights = next(it, None)
            else:
                rest.append(t)
        tokens = rest
    try:
        cfg = make_config(recipe.config, recipe.quick, tokens)
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        if command == "train":
            recipe.run(cfg)
        else:
            recipe.evaluate(cfg, weights)
    except (TrainingDiverged, FileNotFoundError) as e:
        print(f"nablagrad {command} {name}: {e}", file=sys.stderr)
        return 1
    return 0


# option -> (keyword of Recipe.sample, type); --seed also seeds the config
SAMPLE_OPTIONS = {"weights": ("weights", str), "prompt": ("prompt", str),
                  "tokens": ("tokens", int), "temperature": ("temperature", float),
                  "top-k": ("top_k", int), "top-p": ("top_p", float), "seed": ("seed", int)}


def _sample_options(tokens):
    """Split ``tokens`` into the sampling options (parsed) and the rest (config overrides)."""
    options, rest, it = {}, [], iter(tokens)
    for t in it:
        key, has_value, text = t[2:].partition("=") if t.startswith("--") else ("", False, "")
        if key not in SAMPLE_OPTIONS:
            rest.append(t)
            continue
        if not has_value:
            text = next(it, None)
            if text is None:
                raise UsageError(f"option --{key} needs a value")
        name, kind = SAMPLE_OPTIONS[key]
        try:
            options[name] = kind(text)
        except ValueError:
            raise UsageError(f"--{key}: expected {kind.__name__}, got {text!r}") from None
        if key == "seed":
            rest.append(f"--seed={text}")
    return options, rest


def sample_recipe(name, tokens) -> int:
    from .recipes import get_recipe, make_config
    try:
        recipe = get_recipe(name)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    if recipe.sample is None:
        raise UsageError(f"recipe {name} has no sampler: `nablagrad sample` works with language "
                         f"models")
    options, rest = _sample_options(tokens)
    try:
        cfg = make_config(recipe.config, recipe.quick, rest)
    except ValueError as e:
        raise UsageError(str(e)) from None
    weights = options.pop("weights", None)
    try:
        text = recipe.sample(cfg, weights, **options)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    except (KeyError, ValueError) as e:
        raise UsageError(f"sample {name}: {e.args[0] if e.args else e}") from None
    print(text)
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "list":
            return list_recipes()
        if command in ("train", "eval"):
            if not rest or rest[0].startswith("-"):
                raise UsageError(f"`nablagrad {command}` needs a recipe name (see `nablagrad "
                                 f"list`)")
            return run_recipe(command, rest[0], rest[1:])
        if command == "sample":
            if not rest or rest[0].startswith("-"):
                raise UsageError("`nablagrad sample` needs a recipe name (see `nablagrad list`)")
            return sample_recipe(rest[0], rest[1:])
        raise UsageError(f"unknown command {command!r}")
    except UsageError as e:
        print(f"nablagrad: {e}\n{USAGE}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
