FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY bot ./bot
COPY adapters ./adapters
COPY content ./content
RUN pip install --no-cache-dir --no-deps .
# Daily facts' SQLite database in a volume at /data, writable by the unprivileged user, so
# subscriptions survive a new container (docs/deploy.md); PostgreSQL replaces it for replicas.
RUN mkdir -p /data && chown nobody /data
ENV CYTOBOT_DATABASE_URL=sqlite:////data/cytobot.db
VOLUME /data
USER nobody
ENTRYPOINT ["cytobot"]
CMD ["run"]
