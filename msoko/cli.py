"""The ``msoko`` command. Help and messages are in Russian.

Each subcommand is a thin wrapper over one library function; argument parsing
lives here, the work lives in the modules.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from msoko import __version__, ru
from msoko.errors import MsokoError


def _cmd_ingest(args: argparse.Namespace) -> int:
    from msoko.ingest import ingest

    result = ingest(raw_dir=args.raw, processed_dir=args.processed, jobs=args.jobs, progress=args.progress)
    # a file that could not be read is work not done: the run carries on, its exit code says so
    return 0 if result.ok and not result.unreadable else 1


def _cmd_templates(args: argparse.Namespace) -> int:
    from msoko.dictionary import write_templates

    for path in write_templates(out_dir=args.out, fmt=args.format):
        print(path)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from msoko.demo import generate
    from msoko.ru import plural

    y1, _, y2 = args.years.partition("-")
    try:
        years = (int(y1), int(y2 or y1))
    except ValueError:
        raise MsokoError(f"Годы заданы неверно: «{args.years}» (нужно, например, 2021-2023).") from None
    s = generate(out_dir=args.out, seed=args.seed, n_schools=args.schools, years=years,
                 n_municipalities=args.municipalities)
    rows = ru.number(int(s["vpr_rows"]))
    k = s["municipalities"]
    what = (f"Демо-регион ({k} {plural(k, 'муниципалитет', 'муниципалитета', 'муниципалитетов')})" if k > 1
            else "Демо-муниципалитет")
    print(f"{what} записан в {args.out}: школ {s['schools']}, детских садов {s['kindergartens']}, "
          f"строк ВПР {rows} в {s['vpr_files']} файлах, заложенных искажений {s['cells']} "
          f"(см. {args.out}/_truth/).")
    return 0


def _cmd_compute(args: argparse.Namespace) -> int:
    from msoko.store import FolderLock, writing_to

    if not Path(args.processed).is_dir():   # compute's own message; the lock would create the folder
        return _compute(args)
    with writing_to(args.processed), FolderLock(args.processed):
        return _compute(args)


def _compute(args: argparse.Namespace) -> int:
    from msoko.compute import compute

    result = compute(processed_dir=args.processed, config_path=args.config)
    if result.failures:
        print(f"Ошибки расчёта ({len(result.failures)}), остальные результаты записаны:", file=sys.stderr)
        for message in dict.fromkeys(r["message_ru"] for r in result.failures):
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from msoko.runner import run
    from msoko.store import writing_to

    with writing_to(args.reports):
        return run(args)


PROGRESS_HELP = ("показывать индикатор выполнения и таблицу баланса строк и не в терминале (по умолчанию — только "
                 "в терминале; в cron stderr остаётся пустым, пока нет ошибок и предупреждений)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msoko",
        description="msoko — муниципальная система оценки качества образования: "
                    "загрузка данных, показатели восьми систем, диагностика объективности, отчёты.",
    )
    parser.add_argument("--version", action="version", version=f"msoko {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="команда", title="команды")

    p = sub.add_parser("ingest", help="загрузить и проверить исходные данные, записать Parquet",
                       description="Загружает выгрузки ВПР, спецификации заданий, реестр школ и шаблоны "
                                   "msoko из папки исходных данных, проверяет каждую строку и записывает "
                                   "таблицы Parquet. Отклонённые строки — в rejects.csv с причиной.")
    p.add_argument("--raw", default="data/raw", help="папка исходных данных (по умолчанию data/raw)")
    p.add_argument("--processed", default="data/processed",
                   help="папка обработанных данных (по умолчанию data/processed)")
    p.add_argument("--jobs", type=int, default=None, help="число процессов (по умолчанию — все ядра)")
    p.add_argument("--progress", action="store_true", default=None, help=PROGRESS_HELP)
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("templates", help="создать пустые шаблоны msoko для заполнения",
                       description="Записывает пустые шаблоны msoko (один лист, русские заголовки, строка-пример) "
                                   "для данных без федеральной выгрузки: ГИА, олимпиады, кадры, воспитание, "
                                   "дошкольное образование, реестр школ и др. Описание столбцов — "
                                   "docs/data_dictionary.md.")
    p.add_argument("--out", default="data/templates", help="куда записать шаблоны (по умолчанию data/templates)")
    p.add_argument("--format", choices=["xlsx", "csv"], default="xlsx",
                   help="формат шаблонов: xlsx (по умолчанию) или csv (UTF-8, разделитель «;»)")
    p.set_defaults(func=_cmd_templates)

    p = sub.add_parser("demo", help="создать демонстрационный муниципалитет",
                       description="Создаёт папку исходных данных вымышленного муниципалитета "
                                   "(ВПР, ГИА, олимпиады, кадры, воспитание, дошкольное образование) "
                                   "с заложенными «истинами» в _truth/.")
    p.add_argument("--out", default="data/raw", help="куда записать данные (по умолчанию data/raw)")
    p.add_argument("--seed", type=int, default=2021, help="зерно генератора (по умолчанию 2021)")
    p.add_argument("--schools", type=int, default=40, help="число школ (по умолчанию 40)")
    p.add_argument("--years", default="2021-2023", help="годы, например 2021-2023")
    p.add_argument("--municipalities", type=int, default=1,
                   help="число муниципалитетов: больше 1 — демо-регион, школы распределяются между "
                        "муниципалитетами поровну (по умолчанию 1)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("compute", help="рассчитать показатели и признаки необъективности",
                       description="Рассчитывает все показатели каталога и диагностику объективности "
                                   "по обработанным таблицам: indicators.parquet, objectivity.parquet, "
                                   "а также управленческий цикл по восьми системам: зоны внимания "
                                   "(cycle_analysis.parquet), адресные рекомендации (recommendations.parquet), "
                                   "эффективность принятых мер (effectiveness.parquet). Таблицы, которых нет, "
                                   "не мешают расчёту: показатели по ним отмечаются как нерассчитанные.")
    p.add_argument("--processed", default="data/processed", help="папка обработанных данных")
    p.add_argument("--config", default=None,
                   help="файл муниципальной конфигурации (TOML); по умолчанию — встроенный")
    p.epilog = ("Коды завершения: 0 — всё рассчитано (или пропущено за отсутствием данных); "
                "1 — часть расчёта не выполнена из-за ошибки (названа в выводе и в compute_log.csv, "
                "остальное записано); 2 — ошибка ввода или данных.")
    p.set_defaults(func=_cmd_compute)

    p = sub.add_parser("run", help="годовой прогон: загрузка → расчёт → отчёты",
                       description="Загрузка (инкрементальная) → показатели и диагностика → "
                                   "все отчёты (papermill) → HTML → reports/index.html.")
    p.add_argument("--raw", default="data/raw", help="папка исходных данных")
    p.add_argument("--processed", default="data/processed", help="папка обработанных данных")
    p.add_argument("--reports", default="reports", help="папка отчётов")
    p.add_argument("--year", type=int, default=None, help="год отчёта (по умолчанию — последний в данных)")
    p.add_argument("--municipality", default=None, help="муниципалитет (по умолчанию — все)")
    p.add_argument("--schools", nargs="*", default=None, metavar="ID", help="только эти школы (логины); отчёты муниципалитета и объективности "
                        "в таком прогоне не строятся")
    p.add_argument("--jobs", type=int, default=None, help="число параллельных процессов (по умолчанию — все ядра)")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="где выполнять блокноты: local (по умолчанию) или dask")
    p.add_argument("--scheduler", default=None, help="адрес планировщика Dask (tcp://host:8786)")
    p.add_argument("--config", default=None, help="файл муниципальной конфигурации (TOML)")
    p.add_argument("--log", default=None, help="файл журнала (по умолчанию <reports>/run.log)")
    p.add_argument("--notebooks", default=None,
                   help="папка блокнотов отчётов (по умолчанию notebooks/ проекта)")
    p.add_argument("--force", action="store_true",
                   help="перестроить все отчёты, даже если ничего не изменилось")
    p.add_argument("--progress", action="store_true", default=None, help=PROGRESS_HELP)
    p.add_argument("--keep-notebooks", action="store_true",
                   help="сохранять выполненные блокноты всех отчётов в <reports>/_executed/ (по умолчанию — "
                        "только отчётов с ошибками: HTML и книги Excel пишутся всегда)")
    p.add_argument("--only-reports", action="store_true",
                   help="только отчёты: без загрузки и расчёта (обработанные таблицы уже готовы)")
    p.epilog = ("Коды завершения: 0 — все отчёты построены; 1 — часть отчётов с ошибками или часть "
                "расчёта не выполнена (см. сводку, index.html и compute_log.csv); 2 — ошибка ввода или данных.")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except MsokoError as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Прервано пользователем.", file=sys.stderr)
        return 130
    except OSError as exc:
        from msoko.store import output_error

        name = getattr(exc, "filename", None)
        err = output_error(exc, Path(name).parent if name else Path.cwd())
        if err is None:
            return _internal_error(exc)
        print(f"Ошибка: {err}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - msoko's own error: named, without a traceback
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    import os
    import traceback

    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
    print(f"Внутренняя ошибка msoko{place}: {type(exc).__name__}: {exc}. Это ошибка программы, "
          "а не исходных данных; полный отчёт об ошибке — с переменной окружения MSOKO_DEBUG=1.",
          file=sys.stderr)
    if os.environ.get("MSOKO_DEBUG"):
        traceback.print_exception(exc)
    return 1


if __name__ == "__main__":
    sys.exit(main())
