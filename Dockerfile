FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY bot ./bot
COPY adapters ./adapters
COPY content ./content
RUN pip install --no-cache-dir --no-deps .
# Daily facts' SQLite database (CYTOBOT_DATABASE_URL defaults to ./data/cytobot.db): writable by
# the unprivileged user, and a volume so subscriptions survive a new container.
RUN mkdir -p /app/data && chown nobody /app/data
VOLUME /app/data
USER nobody
ENTRYPOINT ["cytobot"]
CMD ["run"]
