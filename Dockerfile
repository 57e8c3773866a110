# The platform's binaries in one image: `trader` (all services in one process,
# client commands) and one binary per service for running copies apart.
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      -p trader -p market-data-service -p strategy-service -p risk-service \
      -p execution-service -p portfolio-service -p backtest-service -p analytics-service

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/trader /src/target/release/market-data \
     /src/target/release/strategy /src/target/release/risk /src/target/release/execution \
     /src/target/release/portfolio /src/target/release/backtest /src/target/release/analytics \
     /usr/local/bin/
COPY testdata /srv/testdata
ENV TRADER_DATA_DIR=/data
ENTRYPOINT ["trader"]
CMD ["run", "--nats-url", "nats://nats:4222", "--import-dir", "/srv/testdata"]
